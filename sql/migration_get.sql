SELECT schema_name, table_name, state, job_id, new_name, old_name, view_name, trigger_name,
       function_name, plan, batch_rows, max_rows_per_s, rollback_window::text,
       cut_over_at, rollback_deadline, rollback_deadline < now() AS window_over,
       created_at, updated_at
  FROM partd.migrations
 WHERE schema_name = $1 AND table_name = $2;
