-- For DBAs: the seed's create_monthly_partition, corrected. partd itself
-- does not call it (its jobs create, move default rows and ATTACH with
-- lock_timeout); it is here for hands-on work in psql:
--
--   \i sql/create_monthly_partition.sql
--   SELECT public.create_monthly_partition('public.platform_analytics', '2027-03-15');
--
-- Differences from the seed: the table may be schema-qualified (the seed
-- quoted 'public.t' as one identifier); the partition lands in the
-- parent's schema; it is idempotent (an existing partition with the same
-- bounds is left alone, one with other bounds is reported, never
-- replaced); the partition is made as a table and ATTACHed, so writers of
-- the parent are not blocked; and lock waits are bounded by lock_timeout.
CREATE OR REPLACE FUNCTION public.create_monthly_partition(table_name regclass, partition_date date)
RETURNS text
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    start_date  date := date_trunc('month', partition_date)::date;
    end_date    date := (date_trunc('month', partition_date) + interval '1 month')::date;
    parent_schema text;
    parent_name   text;
    part_name     text;
    existing      regclass;
    existing_bound text;
BEGIN
    SELECT n.nspname, c.relname INTO parent_schema, parent_name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = table_name AND c.relkind = 'p';
    IF parent_name IS NULL THEN
        RAISE EXCEPTION '% is not a partitioned table', table_name;
    END IF;
    part_name := pg_catalog.left(parent_name, 63 - 8) || '_' || pg_catalog.to_char(start_date, 'YYYY_MM');

    SELECT c.oid, pg_catalog.pg_get_expr(c.relpartbound, c.oid) INTO existing, existing_bound
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = parent_schema AND c.relname = part_name;
    IF existing IS NOT NULL THEN
        IF existing_bound = pg_catalog.format('FOR VALUES FROM (%L) TO (%L)', start_date, end_date) THEN
            RETURN pg_catalog.format('%I.%I already exists', parent_schema, part_name);
        END IF;
        RAISE EXCEPTION '%.% exists with other bounds (%): left alone', parent_schema, part_name,
            coalesce(existing_bound, 'not a partition');
    END IF;

    PERFORM pg_catalog.set_config('lock_timeout', '2s', true);
    EXECUTE pg_catalog.format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)',
                              parent_schema, part_name, table_name);
    EXECUTE pg_catalog.format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                              table_name, parent_schema, part_name, start_date, end_date);
    RETURN pg_catalog.format('%I.%I created', parent_schema, part_name);
END;
$$;
