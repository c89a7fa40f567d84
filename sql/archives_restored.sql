-- Marks archive $1 as restored into table $2.
UPDATE partd.archives SET restored_at = now(), restored_as = $2 WHERE id = $1::bigint;
