"""Generation: teacher replies split into reasoning and answer (`reasoning`), the append-only store of
finished samples that makes runs resumable (`store`), and the distilabel pipeline (`kit.pipeline`)."""
