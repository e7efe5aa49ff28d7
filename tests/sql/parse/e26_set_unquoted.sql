SET parallelism = 2;
