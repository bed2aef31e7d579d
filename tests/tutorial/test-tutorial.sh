#!/bin/sh
# The tutorial of docs/modules.md, run for real: install Portico into a
# scratch prefix, build docs/tutorial/greeter.c out of the tree with
# nothing but the installed header and `pkg-config portico-module`, load it
# into the installed gateway, and check what it does. TAP output.
#
# usage: test-tutorial.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/portico-tutorial-XXXXXX")
gw_pid= mock_pid=
cleanup () {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

n=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
fail () { n=$((n + 1)); echo "not ok $n - $1"; echo "1..$n"; exit 1; }

echo "# installing into $work/root"
meson install -C "$build" --no-rebuild --quiet --destdir "$work/root" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "meson install"; }
prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
root="$work/root$prefix"
pc_dir=$(dirname "$(find "$root" -name portico-module.pc | head -n 1)")
[ -f "$pc_dir/portico-module.pc" ] || fail "portico-module.pc is installed"
ok "portico-module.pc is installed"

# The tutorial's commands. The .pc file is relocatable: it finds the scratch prefix itself.
pc () { PKG_CONFIG_PATH="$pc_dir" pkg-config "$@" portico-module; }
cp "$src/docs/tutorial/greeter.c" "$work/"
cc -shared -fPIC -O2 -Wall -Werror $(pc --cflags) -o "$work/greeter.so" "$work/greeter.c" $(pc --libs) \
  2>"$work/cc.log" || { cat "$work/cc.log" >&2; fail "greeter.c builds against the installed header"; }
ok "greeter.c builds against the installed header"

portico="$root/bin/portico"
moddir=$(pc --variable=moduledir)
[ -f "$moddir/key-auth.so" ] || fail "the bundled modules are installed in moduledir"
ok "moduledir is $moddir"

"$portico" modules "$work" >"$work/modules.txt" 2>&1 || { cat "$work/modules.txt" >&2; fail "portico modules lists it"; }
grep -q '^greeter .*700  access, header_filter' "$work/modules.txt" || { cat "$work/modules.txt" >&2; fail "portico modules lists it"; }
ok "portico modules lists greeter with its phases"

"$portico" mock --listen 127.0.0.1:0 >"$work/mock.out" 2>&1 &
mock_pid=$!
wait_listening () {
  i=0
  while [ $i -lt 100 ]; do
    addr=$(sed -n 's/^listening \(.*\)$/\1/p' "$1" | head -n 1)
    [ -n "$addr" ] && { echo "$addr"; return 0; }
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
up=$(wait_listening "$work/mock.out") || fail "the mock starts"

cat >"$work/gateway.json" <<JSON
{"_format_version": "1",
 "node": {"listen": ["127.0.0.1:0"], "admin_listen": "off", "workers": 1, "module_path": ["$work"]},
 "services": [{"name": "hello", "url": "http://$up/echo", "routes": [{"paths": ["/"]}],
               "plugins": [{"name": "greeter", "config": {"greeting": "bonjour", "shout": true}}]}]}
JSON
cat >"$work/bad.json" <<JSON
{"_format_version": "1", "node": {"module_path": ["$work"]},
 "plugins": [{"name": "greeter", "config": {"greeting": ""}}, {"name": "greeter", "service": "x", "config": {"shout": "yes"}}],
 "services": [{"name": "x", "url": "http://127.0.0.1:9"}]}
JSON
"$portico" check "$work/bad.json" >"$work/check.out" 2>&1 && fail "portico check refuses a bad greeter config"
grep -q 'plugins\[0\].config: greeting: must not be empty' "$work/check.out" &&
  grep -q 'plugins\[1\].config.shout: expected a boolean' "$work/check.out" ||
  { cat "$work/check.out" >&2; fail "portico check refuses a bad greeter config"; }
ok "portico check names the JSON path of each bad greeter config"

"$portico" serve -c "$work/gateway.json" >"$work/gw.out" 2>"$work/gw.err" &
gw_pid=$!
gw=$(wait_listening "$work/gw.out") || { cat "$work/gw.err" >&2; fail "the gateway starts with greeter"; }
ok "the gateway starts with greeter loaded"

curl -sS -m 10 -D "$work/head.txt" -o "$work/body.txt" "http://$gw/tutorial" || fail "a request through greeter"
grep -qi '^X-Greeted-By: greeter' "$work/head.txt" || { cat "$work/head.txt" >&2; fail "the client sees X-Greeted-By"; }
grep -qi '^X-Handlers-Us: [0-9]' "$work/head.txt" || fail "the client sees X-Handlers-Us"
ok "the client sees the module's response headers"
grep -q '\["X-Greeting","BONJOUR"\]' "$work/body.txt" || { cat "$work/body.txt" >&2; fail "the upstream sees X-Greeting"; }
ok "the upstream sees X-Greeting: BONJOUR"
echo "1..$n"
