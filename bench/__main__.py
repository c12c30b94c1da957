"""``python -m bench``: the benchmark suite."""

from bench.run import main

raise SystemExit(main())
