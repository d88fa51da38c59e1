// Loads a compose file the way `docker compose config` does (compose-go: the compose
// specification's JSON schema, interpolation, merge keys, then the model's own checks)
// and prints the resolved services.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	file, _ := filepath.Abs(os.Args[1])
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithWorkingDirectory(filepath.Dir(file)), cli.WithOsEnv, cli.WithInterpolation(true), cli.WithResolvedPaths(true))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "invalid:", err)
		os.Exit(1)
	}
	for _, name := range project.ServiceNames() {
		s := project.Services[name]
		deps := []string{}
		for d, c := range s.DependsOn {
			deps = append(deps, d+"="+c.Condition)
		}
		sort.Strings(deps)
		hc := "none"
		if s.HealthCheck != nil {
			hc = fmt.Sprint(s.HealthCheck.Test)
		}
		mounts := []string{}
		for _, v := range s.Volumes {
			mounts = append(mounts, v.Target)
		}
		fmt.Printf("%s: image=%s depends_on=%v volumes=%v healthcheck=%s\n", name, s.Image, deps, mounts, hc)
	}
}
