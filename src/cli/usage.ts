export const USAGE =
  `Usage: oc-zai-multi-account <command> [options]

Commands:
  doctor            Check the setup: plugin listed in opencode.json, provider stub, OpenCode auth entry,
` +
  "                    that the plugin entry loads (OpenCode's package cache, a path), where keys come from, " +
  `the keys file (every
                    problem with line/column, mode 0600), the endpoint, a writable state directory.
    --probe         Also send one tiny request per key (spends a little quota) and report what Z.AI says.
    --models a,b    Models to probe (default: glm-4.7).
    --keys          Also check every key through Z.AI's quota endpoint (spends nothing); names the refused ones.
  status            Per account and key: usable or not and why, cooldowns, learned limits, unavailable models,
                    slots in flight / limit across processes, the last login's key check.
    --watch         Live view, redrawn every second: in flight / limit per account and model, waiting, holders,
                    5-hour and weekly windows, last events. q or Ctrl-C quits. Plain snapshots when not a TTY.
    --interval <ms> How often --watch redraws (default 1000).
    --reset <id>    Clear cooldowns, disabled keys and unavailable models of a key id, an account, or "all"
                    (learned limits stay).
    --reset learned Reset learned concurrency limits to their start; learned:<account>,
                    learned:<account>/<model> or learned:*/<model> for some.

Options:
  --provider <id>   zai-coding-plan (default) or zhipuai-coding-plan
  --json            Machine-readable output
  --help, -h        This text
  --version, -v     The version

Exit codes: 0 all well (warnings allowed), 1 something is wrong, 2 bad usage.
API keys are never printed: keys are named by their id from the keys file.
`;
