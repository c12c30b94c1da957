-- golden SQL: jdbc-oracle / add_column, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: added column ratio BINARY_DOUBLE to sales.orders; the rows loaded before this run hold NULL in ratio: run the module with --full-refresh to fill them
-- schema change: added column active NUMBER(1) to sales.orders; the rows loaded before this run hold NULL in active: run the module with --full-refresh to fill them
-- schema change: added column born DATE to sales.orders; the rows loaded before this run hold NULL in born: run the module with --full-refresh to fill them
-- schema change: added column updated_at TIMESTAMP(6) WITH TIME ZONE to sales.orders; the rows loaded before this run hold NULL in updated_at: run the module with --full-refresh to fill them
-- schema change: added column seen_at TIMESTAMP(6) to sales.orders; the rows loaded before this run hold NULL in seen_at: run the module with --full-refresh to fill them
-- schema change: added column ref RAW(16) to sales.orders; the rows loaded before this run hold NULL in ref: run the module with --full-refresh to fill them
-- schema change: added column doc CLOB to sales.orders; the rows loaded before this run hold NULL in doc: run the module with --full-refresh to fill them
-- schema change: added column blob BLOB to sales.orders; the rows loaded before this run hold NULL in blob: run the module with --full-refresh to fill them
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "ratio" BINARY_DOUBLE;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "active" NUMBER(1);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "born" DATE;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "updated_at" TIMESTAMP(6) WITH TIME ZONE;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "seen_at" TIMESTAMP(6);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "ref" RAW(16);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "doc" CLOB;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "blob" BLOB;
-- replace
DELETE FROM "sales"."orders" WHERE EXISTS (SELECT 1 FROM "pipekit_staging"."orders" s WHERE s."id" = "sales"."orders"."id");
-- insert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s;
