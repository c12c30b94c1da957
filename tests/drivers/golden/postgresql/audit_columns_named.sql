-- golden SQL: postgresql / audit_columns_named, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: added column dss_load_date timestamptz(6) to sales.orders; the rows loaded before this run hold NULL in dss_load_date: run the module with --full-refresh to fill them
-- schema change: added column dss_run_id bigint to sales.orders; the rows loaded before this run hold NULL in dss_run_id: run the module with --full-refresh to fill them
-- schema change: added column dss_record_source text to sales.orders; the rows loaded before this run hold NULL in dss_record_source: run the module with --full-refresh to fill them
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "dss_load_date" timestamptz(6);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "dss_run_id" bigint;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "dss_record_source" text;
-- replace and insert
WITH pipekit_written AS (INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob", "dss_load_date", "dss_run_id", "dss_record_source") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob", CAST('2024-03-01 12:30:00.123456+00:00' AS TIMESTAMPTZ(6)), 42, 'landing/orders' FROM "pipekit_staging"."orders" s WHERE true ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "amount" = excluded."amount", "ratio" = excluded."ratio", "active" = excluded."active", "born" = excluded."born", "updated_at" = excluded."updated_at", "seen_at" = excluded."seen_at", "ref" = excluded."ref", "doc" = excluded."doc", "blob" = excluded."blob", "dss_load_date" = excluded."dss_load_date", "dss_run_id" = excluded."dss_run_id", "dss_record_source" = excluded."dss_record_source" RETURNING xmax = 0 AS inserted) SELECT COUNT(*) FILTER (WHERE NOT inserted) FROM pipekit_written;
