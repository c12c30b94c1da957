-- golden SQL: jdbc-postgresql / upsert, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: upsert
-- upsert
INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s WHERE true ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "amount" = excluded."amount", "ratio" = excluded."ratio", "active" = excluded."active", "born" = excluded."born", "updated_at" = excluded."updated_at", "seen_at" = excluded."seen_at", "ref" = excluded."ref", "doc" = excluded."doc", "blob" = excluded."blob";
