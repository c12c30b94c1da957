-- golden SQL: jdbc-hsqldb / odd_names, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: upsert
-- upsert
MERGE INTO "My Schema"."it's" d USING "pipekit_staging"."it's" s ON (d."Order ID" = s."Order ID" AND d."line""no" = s."line""no") WHEN MATCHED THEN UPDATE SET "select" = s."select", "it's" = s."it's" WHEN NOT MATCHED THEN INSERT ("Order ID", "line""no", "select", "it's") VALUES (s."Order ID", s."line""no", s."select", s."it's");
