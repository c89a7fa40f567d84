-- Newest first, keyset paging on id. $1 table, $2 kind, $3 state (each NULL
-- for any), $4 cursor (id to continue below, NULL for the first page),
-- $5 page size (one more row is fetched to know whether a next page exists).
SELECT *
  FROM partd.jobs
 WHERE ($1::text IS NULL OR table_name = $1)
   AND ($2::text IS NULL OR kind = $2)
   AND ($3::text IS NULL OR state = $3)
   AND ($4::bigint IS NULL OR id < $4)
 ORDER BY id DESC
 LIMIT $5;
