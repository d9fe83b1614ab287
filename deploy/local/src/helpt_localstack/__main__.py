from helpt_localstack.cli import main

raise SystemExit(main())
