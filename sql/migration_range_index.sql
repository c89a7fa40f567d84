-- Whether a valid, non-partial btree index of a table ($1 oid) leads with
-- column $2: min() and max() of the column then read an index entry each.
SELECT EXISTS (SELECT 1
                 FROM pg_catalog.pg_index i
                 JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
                 JOIN pg_catalog.pg_am a ON a.oid = c.relam
                 JOIN pg_catalog.pg_attribute t ON t.attrelid = i.indrelid AND t.attnum = i.indkey[0]
                WHERE i.indrelid = $1::oid AND i.indisvalid AND i.indpred IS NULL
                  AND a.amname = 'btree' AND t.attname = $2);
