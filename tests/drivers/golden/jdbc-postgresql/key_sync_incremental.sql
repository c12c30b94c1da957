-- golden SQL: jdbc-postgresql / key_sync_incremental, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- replace and insert
WITH pipekit_written AS (INSERT INTO "sales"."orders" ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") SELECT s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob" FROM "pipekit_staging"."orders" s WHERE true ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "amount" = excluded."amount", "ratio" = excluded."ratio", "active" = excluded."active", "born" = excluded."born", "updated_at" = excluded."updated_at", "seen_at" = excluded."seen_at", "ref" = excluded."ref", "doc" = excluded."doc", "blob" = excluded."blob" RETURNING xmax = 0 AS inserted) SELECT COUNT(*) FILTER (WHERE NOT inserted) FROM pipekit_written;
-- key_sync
DELETE FROM "sales"."orders" WHERE NOT EXISTS (SELECT 1 FROM "pipekit_staging"."orders__keys" k WHERE k."id" = "sales"."orders"."id");
