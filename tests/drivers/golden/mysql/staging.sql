-- golden SQL: mysql / staging, rendered by tests/drivers/golden_cases.py
-- regenerate: PIPEKIT_UPDATE_GOLDEN=1 pytest tests/drivers/test_golden_sql.py
-- staging table: `sales`.`pipekit_staging__orders`
-- key table: `sales`.`pipekit_staging__orders__keys`
-- swap table: `sales`.`pipekit_staging__orders`
-- create schema
CREATE DATABASE IF NOT EXISTS `pipekit_staging`;
-- create staging
CREATE TABLE `sales`.`pipekit_staging__orders` (`id` BIGINT, `name` LONGTEXT, `amount` DECIMAL(18,2), `ratio` DOUBLE, `active` BOOLEAN, `born` DATE, `updated_at` DATETIME(6), `seen_at` DATETIME(6), `ref` UUID, `doc` JSON, `blob` LONGBLOB) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- create if missing
CREATE TABLE IF NOT EXISTS `sales`.`orders` (`id` BIGINT NOT NULL, `name` LONGTEXT, `amount` DECIMAL(18,2), `ratio` DOUBLE, `active` BOOLEAN, `born` DATE, `updated_at` DATETIME(6), `seen_at` DATETIME(6), `ref` UUID, `doc` JSON, `blob` LONGBLOB, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- odd names
CREATE TABLE `My Schema`.`we"ird` (`Order ID` INT, `line"no` SMALLINT, `select` LONGTEXT, `it's` DECIMAL(40,4)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- duplicate keys
SELECT `id`, `name`, COUNT(*) FROM `sales`.`pipekit_staging__orders` GROUP BY `id`, `name` HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT 3;
-- count
SELECT COUNT(*) FROM `sales`.`orders`;
-- lock
-- (none)
-- drop staging
DROP TABLE IF EXISTS `sales`.`pipekit_staging__orders`;
