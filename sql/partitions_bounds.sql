-- Only the bounds of every partition of one parent ($1 oid): what jobs and
-- the scheduler need, without sizes or statistics. relpartbound is decoded
-- by service/bound.c.
SELECT n.nspname AS schema_name, c.relname AS name, c.relpartbound::text AS bound_node,
       c.oid::text AS oid, i.inhdetachpending AS detach_pending
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE i.inhparent = $1;
