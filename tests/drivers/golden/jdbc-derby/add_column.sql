-- golden SQL: jdbc-derby / add_column, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: added column ratio DOUBLE to sales.orders; the rows loaded before this run hold NULL in ratio: run the module with --full-refresh to fill them
-- schema change: added column active BOOLEAN to sales.orders; the rows loaded before this run hold NULL in active: run the module with --full-refresh to fill them
-- schema change: added column born DATE to sales.orders; the rows loaded before this run hold NULL in born: run the module with --full-refresh to fill them
-- schema change: added column updated_at TIMESTAMP to sales.orders; the rows loaded before this run hold NULL in updated_at: run the module with --full-refresh to fill them
-- schema change: added column seen_at TIMESTAMP to sales.orders; the rows loaded before this run hold NULL in seen_at: run the module with --full-refresh to fill them
-- schema change: added column ref CHAR(36) to sales.orders; the rows loaded before this run hold NULL in ref: run the module with --full-refresh to fill them
-- schema change: added column doc VARCHAR(32672) to sales.orders; the rows loaded before this run hold NULL in doc: run the module with --full-refresh to fill them
-- schema change: added column blob BLOB to sales.orders; the rows loaded before this run hold NULL in blob: run the module with --full-refresh to fill them
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "ratio" DOUBLE;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "active" BOOLEAN;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "born" DATE;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "updated_at" TIMESTAMP;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "seen_at" TIMESTAMP;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "ref" CHAR(36);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "doc" VARCHAR(32672);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "blob" BLOB;
-- replace
DELETE FROM "sales"."orders" WHERE EXISTS (SELECT 1 FROM "pipekit_staging"."orders" s WHERE s."id" = "sales"."orders"."id");
-- insert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s;
