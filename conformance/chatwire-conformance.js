#!/usr/bin/env node
// Launcher for the compiled command line. It is committed, so npm links the
// bin on install even in a fresh clone where dist/ is built afterwards.
import "./dist/bin/chatwire-conformance.js";
