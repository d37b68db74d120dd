#!/usr/bin/env bash
# The main job on the built-in example, whole: introspect minihttpd (a tiny web server shipped in
# examples/), capture its files, compose an assembly, write a deployment plan that changes the
# port and the server name, deploy it on this machine, then ping, stop, start and undeploy it.
# Everything happens under .demo/ (git-ignored); run it again to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=.demo
port=${DEMO_PORT:-18081}
abctl() { echo "+ abctl $*" >&2; node bin/abctl --instance "$demo/instance" "$@"; }
# GET /health of the deployed server (Node's fetch: curl is not on every fresh machine).
health() {
  echo "+ GET http://127.0.0.1:$port/health" >&2
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then((r) => r.text()).then((t) => console.log(t.trim()), (e) => { console.error(`no answer: ${e.cause?.code ?? e.message}`); process.exit(1); })' "http://127.0.0.1:$port/health"
}

# A deployment left running by an earlier, interrupted run would hold the port.
[ -d "$demo/instance/deployments/site" ] && node bin/abctl --instance "$demo/instance" undeploy --deployment site >/dev/null 2>&1 || true
rm -rf "$demo" && mkdir -p "$demo"
cp -a examples/minihttpd "$demo/minihttpd"          # the reference installation
home="$PWD/$demo/minihttpd"

echo "== 1. introspect and capture the reference installation" >&2
abctl describePlugins
AB_EXAMPLE_SEARCH="$PWD/$demo" abctl discover
abctl introspectexample --home "$home" --name web
abctl describeAppliances --name web

echo "== 2. compose an assembly and write a deployment plan with a new port and server name" >&2
abctl createAssembly --name site --description "minihttpd, re-created by the demo"
abctl addToAssembly --assembly site --name web
abctl setProperty --assembly site --appliance web --property port --value "$port"
abctl createDeploymentPlan --assembly site --out "$demo/site-plan.xml"
# The plan is a document to edit: run the instance here, under a new server name.
sed -i -e 's|<host instance="1" hostname="" address=""/>|<host instance="1" hostname="" address="" target="local"/>|' \
       -e 's|name="server.name" type="string" required="true" value="[^"]*"|name="server.name" type="string" required="true" value="demo-web"|' \
       "$demo/site-plan.xml"
abctl validateDeploymentPlan --assembly site --plan "$demo/site-plan.xml"

echo "== 3. deploy: the reference goes away, and deploy re-creates the product from the catalog" >&2
mv "$home" "$demo/reference-was-here"
abctl deploy --assembly site --plan "$demo/site-plan.xml" --target-root "$PWD/$demo/target"
health
abctl pingDeployment --deployment site
abctl describeDeployments

echo "== 4. stop, start, undeploy" >&2
abctl stopDeployment --deployment site
if health 2>/dev/null; then echo "demo: the server still answers after stopDeployment" >&2; exit 1; fi
abctl startDeployment --deployment site
health
abctl undeploy --deployment site
echo "demo: done; the catalog and the plan are in $demo/" >&2
