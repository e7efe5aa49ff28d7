SET 'execution.checkpointing.interval' = 'soon';
