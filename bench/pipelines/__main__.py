"""`python -m bench.pipelines`: the pipelines pass alone, its tables on stdout."""

from bench.pipelines import main

raise SystemExit(main())
