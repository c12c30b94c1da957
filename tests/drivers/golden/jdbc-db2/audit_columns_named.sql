-- golden SQL: jdbc-db2 / audit_columns_named, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: added column dss_load_date TIMESTAMP(6) to sales.orders; the rows loaded before this run hold NULL in dss_load_date: run the module with --full-refresh to fill them
-- schema change: added column dss_run_id BIGINT to sales.orders; the rows loaded before this run hold NULL in dss_run_id: run the module with --full-refresh to fill them
-- schema change: added column dss_record_source VARCHAR(32000) to sales.orders; the rows loaded before this run hold NULL in dss_record_source: run the module with --full-refresh to fill them
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "dss_load_date" TIMESTAMP(6);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "dss_run_id" BIGINT;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "dss_record_source" VARCHAR(32000);
-- replace
DELETE FROM "sales"."orders" WHERE EXISTS (SELECT 1 FROM "pipekit_staging"."orders" s WHERE s."id" = "sales"."orders"."id");
-- insert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob", "dss_load_date", "dss_run_id", "dss_record_source") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob", CAST('2024-03-01 12:30:00.123456+00:00' AS TIMESTAMP(6)), 42, 'landing/orders' FROM "pipekit_staging"."orders" s;
