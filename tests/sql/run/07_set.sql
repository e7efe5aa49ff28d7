-- SET and RESET: SET alone lists the session's configuration
SET;
SET 'parallelism.default' = '1';
SET 'execution.checkpointing.interval' = '10 s';
SET 'pipeline.name' = 'my job';
SET;
RESET 'pipeline.name';
SET;
RESET;
SET;
SELECT 'after reset' AS msg;
