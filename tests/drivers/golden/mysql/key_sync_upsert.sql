-- golden SQL: mysql / key_sync_upsert, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: upsert
-- upsert
INSERT INTO `sales`.`orders` (`id`, `name`, `amount`, `ratio`, `active`, `born`, `updated_at`, `seen_at`, `ref`, `doc`, `blob`) SELECT s.`id`, s.`name`, s.`amount`, s.`ratio`, s.`active`, s.`born`, s.`updated_at`, s.`seen_at`, s.`ref`, s.`doc`, s.`blob` FROM `sales`.`pipekit_staging__orders` s ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `amount` = VALUES(`amount`), `ratio` = VALUES(`ratio`), `active` = VALUES(`active`), `born` = VALUES(`born`), `updated_at` = VALUES(`updated_at`), `seen_at` = VALUES(`seen_at`), `ref` = VALUES(`ref`), `doc` = VALUES(`doc`), `blob` = VALUES(`blob`);
-- key_sync
DELETE d FROM `sales`.`orders` d LEFT JOIN `sales`.`pipekit_staging__orders__keys` k ON k.`id` = d.`id` WHERE k.`id` IS NULL;
