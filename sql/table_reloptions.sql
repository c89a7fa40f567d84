-- The storage parameters of a table ($1 oid) and of its TOAST table, one
-- row each, as WITH (...) takes them: the TOAST table's with "toast.".
SELECT o.prefix || split_part(o.opt, '=', 1) AS name,
       substr(o.opt, strpos(o.opt, '=') + 1) AS value
  FROM pg_catalog.pg_class c
 CROSS JOIN LATERAL (
        SELECT '' AS prefix, unnest(c.reloptions) AS opt
         UNION ALL
        SELECT 'toast.', unnest(t.reloptions)
          FROM pg_catalog.pg_class t
         WHERE t.oid = c.reltoastrelid) o
 WHERE c.oid = $1
 ORDER BY 1
