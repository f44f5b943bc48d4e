"""`python -m nsexp.demo OUT_DIR` writes the demo portfolio."""

from nsexp.demo.showcase import main

raise SystemExit(main())
