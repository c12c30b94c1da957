-- golden SQL: jdbc-postgresql / odd_names, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: upsert
-- upsert
INSERT INTO "My Schema"."it's" ("Order ID", "line""no", "select", "it's") SELECT s."Order ID", s."line""no", s."select", s."it's" FROM "pipekit_staging"."it's" s WHERE true ON CONFLICT ("Order ID", "line""no") DO UPDATE SET "select" = excluded."select", "it's" = excluded."it's";
