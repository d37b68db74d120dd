#!/usr/bin/env bash
# The main job on the built-in example: introspect minihttpd (a tiny web server shipped in
# examples/), capture its files, compose an assembly and write a deployment plan.
# Everything happens under .demo/ (git-ignored); run it again to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=.demo
rm -rf "$demo" && mkdir -p "$demo"
cp -a examples/minihttpd "$demo/minihttpd"          # the reference installation
abctl() { echo "+ abctl $*" >&2; node bin/abctl --instance "$demo/instance" "$@"; }

abctl describePlugins
AB_EXAMPLE_SEARCH="$PWD/$demo" abctl discover
abctl introspectexample --home "$PWD/$demo/minihttpd" --name web
abctl describeAppliances --name web
abctl createAssembly --name site --description "minihttpd behind nothing, for the demo"
abctl addToAssembly --assembly site --name web
abctl setProperty --assembly site --appliance web --property port --value 18081
abctl createDeploymentPlan --assembly site --out "$demo/site-plan.xml"
abctl validateDeploymentPlan --assembly site --plan "$demo/site-plan.xml"
echo "archive of the captured file set:" >&2
tar -tzvf "$demo"/instance/catalog/appliances/web/filesets/home.tar.gz
