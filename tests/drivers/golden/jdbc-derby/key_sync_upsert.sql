-- golden SQL: jdbc-derby / key_sync_upsert, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: upsert
-- upsert
MERGE INTO "sales"."orders" d USING "pipekit_staging"."orders" s ON (d."id" = s."id") WHEN MATCHED THEN UPDATE SET "name" = s."name", "amount" = s."amount", "ratio" = s."ratio", "active" = s."active", "born" = s."born", "updated_at" = s."updated_at", "seen_at" = s."seen_at", "ref" = s."ref", "doc" = s."doc", "blob" = s."blob" WHEN NOT MATCHED THEN INSERT ("id", "name", "amount", "ratio", "active", "born", "updated_at", "seen_at", "ref", "doc", "blob") VALUES (s."id", s."name", s."amount", s."ratio", s."active", s."born", s."updated_at", s."seen_at", s."ref", s."doc", s."blob");
-- key_sync
DELETE FROM "sales"."orders" WHERE NOT EXISTS (SELECT 1 FROM "pipekit_staging"."orders__keys" k WHERE k."id" = "sales"."orders"."id");
