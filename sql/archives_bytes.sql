-- Bytes of the verified archive files of one parent ($1 schema, $2 table).
SELECT coalesce(sum(bytes), 0)::bigint AS bytes
  FROM partd.archives
 WHERE schema_name = $1 AND table_name = $2 AND verified_at IS NOT NULL;
