-- golden SQL: mysql / first_load, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- strategy: incremental
-- schema change: created table sales.orders
-- ddl
CREATE DATABASE IF NOT EXISTS `sales`;
-- ddl
CREATE TABLE `sales`.`orders` (`id` BIGINT NOT NULL, `name` LONGTEXT, `amount` DECIMAL(18,2), `ratio` DOUBLE, `active` BOOLEAN, `born` DATE, `updated_at` DATETIME(6), `seen_at` DATETIME(6), `ref` UUID, `doc` JSON, `blob` LONGBLOB, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- replace
DELETE d FROM `sales`.`orders` d JOIN `sales`.`pipekit_staging__orders` s ON s.`id` = d.`id`;
-- insert
INSERT INTO `sales`.`orders` (`id`, `name`, `amount`, `ratio`, `active`, `born`, `updated_at`, `seen_at`, `ref`, `doc`, `blob`) SELECT s.`id`, s.`name`, s.`amount`, s.`ratio`, s.`active`, s.`born`, s.`updated_at`, s.`seen_at`, s.`ref`, s.`doc`, s.`blob` FROM `sales`.`pipekit_staging__orders` s;
