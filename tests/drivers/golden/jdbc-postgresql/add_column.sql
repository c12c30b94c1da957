-- golden SQL: jdbc-postgresql / add_column, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: added column ratio double precision to sales.orders; the rows loaded before this run hold NULL in ratio: run the module with --full-refresh to fill them
-- schema change: added column active boolean to sales.orders; the rows loaded before this run hold NULL in active: run the module with --full-refresh to fill them
-- schema change: added column born date to sales.orders; the rows loaded before this run hold NULL in born: run the module with --full-refresh to fill them
-- schema change: added column updated_at timestamptz(6) to sales.orders; the rows loaded before this run hold NULL in updated_at: run the module with --full-refresh to fill them
-- schema change: added column seen_at timestamp(6) to sales.orders; the rows loaded before this run hold NULL in seen_at: run the module with --full-refresh to fill them
-- schema change: added column ref uuid to sales.orders; the rows loaded before this run hold NULL in ref: run the module with --full-refresh to fill them
-- schema change: added column doc json to sales.orders; the rows loaded before this run hold NULL in doc: run the module with --full-refresh to fill them
-- schema change: added column blob bytea to sales.orders; the rows loaded before this run hold NULL in blob: run the module with --full-refresh to fill them
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "ratio" double precision;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "active" boolean;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "born" date;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "updated_at" timestamptz(6);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "seen_at" timestamp(6);
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "ref" uuid;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "doc" json;
-- ddl
ALTER TABLE "sales"."orders" ADD COLUMN "blob" bytea;
-- replace and insert
WITH pipekit_written AS (INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s WHERE true ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "amount" = excluded."amount", "ratio" = excluded."ratio", "active" = excluded."active", "born" = excluded."born", "updated_at" = excluded."updated_at", "seen_at" = excluded."seen_at", "ref" = excluded."ref", "doc" = excluded."doc", "blob" = excluded."blob" RETURNING xmax = 0 AS inserted) SELECT COUNT(*) FILTER (WHERE NOT inserted) FROM pipekit_written;
