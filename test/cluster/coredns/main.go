// CoreDNS with only the plugins the local cluster's Corefile uses: the default build compiles
// every cloud provider's SDK, which triples the cold build time on these machines.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
)

func init() {
	// Plugin chain order, as in CoreDNS's own plugin.cfg.
	dnsserver.Directives = []string{"bind", "errors", "log", "cache", "hosts", "kubernetes"}
}

func main() {
	coremain.Run()
}
