package main

import (
	"flag"
	"strings"
	"testing"
)

// TestClientCredentials checks where newClient finds credentials and that
// a password given in --api never shows up in a message.
func TestClientCredentials(t *testing.T) {
	for _, k := range []string{"HEARTH_USER", "HEARTH_PASSWORD", "HEARTH_TOKEN", "HEARTH_API"} {
		t.Setenv(k, "")
	}
	tests := []struct {
		name, api string
		env       []string
		wantAuth  string // prefix of the Authorization header; "" = none
	}{
		{"none", "http://127.0.0.1:9091", nil, ""},
		{"url user and password", "http://admin:pw%20x@127.0.0.1:9091", nil, "Basic YWRtaW46cHcgeA=="},
		{"url user, env password", "http://admin@127.0.0.1:9091", []string{"HEARTH_PASSWORD", "pw x"}, "Basic YWRtaW46cHcgeA=="},
		{"token", "http://127.0.0.1:9091", []string{"HEARTH_TOKEN", "hth_abc"}, "Bearer hth_abc"},
		{"env user and password", "http://127.0.0.1:9091", []string{"HEARTH_USER", "admin", "HEARTH_PASSWORD", "pw x"}, "Basic YWRtaW46cHcgeA=="},
		{"url wins over token", "http://admin:pw%20x@127.0.0.1:9091", []string{"HEARTH_TOKEN", "hth_abc"}, "Basic "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i+1 < len(tc.env); i += 2 {
				t.Setenv(tc.env[i], tc.env[i+1])
			}
			c, err := newClient(tc.api)
			if err != nil {
				t.Fatalf("newClient(%q) = %v", tc.api, err)
			}
			if (tc.wantAuth == "") != (c.auth == "") || !strings.HasPrefix(c.auth, tc.wantAuth) {
				t.Errorf("newClient(%q).auth = %q, want %q", tc.api, c.auth, tc.wantAuth)
			}
			if strings.Contains(c.base, "@") {
				t.Errorf("base URL %q keeps the user info", c.base)
			}
		})
	}

	// --user folds into the URL; the help shows the URL without a password.
	api := closedAPI(t)
	withPass := strings.Replace(api, "http://", "http://admin:hunter2hunter2@", 1)
	code, _, errOut := runHearth(t, "ls", "--api", withPass)
	if code != exitUnreachable || strings.Contains(errOut, "hunter2") {
		t.Errorf("hearth ls --api (with password, daemon down) = exit %d, %q; want 3 and no password", code, errOut)
	}
	code, _, errOut = runHearth(t, "ls", "--api", "ftp://admin:hunter2hunter2@x")
	if code != exitUsage || strings.Contains(errOut, "hunter2") {
		t.Errorf("hearth ls --api ftp://… = exit %d, %q; want a usage error without the password", code, errOut)
	}
	t.Setenv("HEARTH_PASSWORD", "pw x")
	code, _, errOut = runHearth(t, "ls", "--user", "admin", "--api", api)
	if code != exitUnreachable {
		t.Errorf("hearth ls --user admin (daemon down) = exit %d, %q; want 3", code, errOut)
	}
	for _, args := range [][]string{{"--user", "admin", "--api", "http://h:1"}, {"--api", "http://h:1", "--user", "admin"}} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		p := apiFlag(fs)
		if err := fs.Parse(args); err != nil || *p != "http://admin@h:1" {
			t.Errorf("apiFlag after %v = %q, %v; want http://admin@h:1", args, *p, err)
		}
	}
	if got := redactURL("http://a:secret@h:1/x"); strings.Contains(got, "secret") {
		t.Errorf("redactURL = %q", got)
	}
}
