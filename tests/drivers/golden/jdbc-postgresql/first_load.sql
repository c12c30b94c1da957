-- golden SQL: jdbc-postgresql / first_load, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: created table sales.orders
-- ddl
CREATE SCHEMA IF NOT EXISTS "sales";
-- ddl
CREATE TABLE "sales"."orders" ("id" bigint NOT NULL, "name" text, "amount" numeric(18,2), "ratio" double precision, "active" boolean, "born" date, "updated_at" timestamptz(6), "seen_at" timestamp(6), "ref" uuid, "doc" json, "blob" bytea, PRIMARY KEY ("id"));
-- replace
DELETE FROM "sales"."orders" WHERE EXISTS (SELECT 1 FROM "pipekit_staging"."orders" s WHERE s."id" = "sales"."orders"."id");
-- insert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s;
