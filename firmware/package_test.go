package firmware

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestPackages runs scripts/package.sh (make package) for amd64 and armhf
// and checks what it made: the .deb with dpkg-deb, unpacked into an empty
// root with dpkg --root, its systemd unit with systemd-analyze verify and
// security in that root; the .ipk's archive layout, control fields and
// files, its binary and its procd script's UCI conversion.
func TestPackages(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "dpkg", "systemd-analyze", "qemu-arm-static", "shellcheck"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: scripts/test-deps.sh installs it", tool)
		}
	}
	dist := t.TempDir()
	cmd := exec.Command("../scripts/package.sh", "amd64", "armhf")
	cmd.Env = append(os.Environ(), "DIST="+dist, "HEARTH_VERSION=1.2.3-4-gabcdef0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package.sh: %v\n%s", err, out)
	}
	const version = "1.2.3+4+gabcdef0" // the Debian form of 1.2.3-4-gabcdef0
	for _, p := range []struct{ deb, ipk, goarch, qemu string }{
		{"amd64", "x86_64", "amd64", ""},
		{"armhf", "arm_cortex-a7_neon-vfpv4", "arm", "qemu-arm-static"},
	} {
		t.Run(p.deb, func(t *testing.T) {
			deb := filepath.Join(dist, fmt.Sprintf("hearth_%s_%s.deb", version, p.deb))
			checkDeb(t, deb, p.deb, version, p.goarch, p.qemu)
			ipk := filepath.Join(dist, fmt.Sprintf("hearth_%s_%s.ipk", version, p.ipk))
			checkIpk(t, ipk, p.ipk, version, p.goarch, p.qemu)
		})
	}
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkBinary runs "hearth version --json" (under qemu for other CPUs).
func checkBinary(t *testing.T, bin, goarch, qemu, version string) {
	t.Helper()
	argv := []string{bin, "version", "--json"}
	if qemu != "" {
		argv = append([]string{qemu}, argv...)
	}
	out := output(t, argv[0], argv[1:]...)
	var v struct {
		Version string `json:"version"`
		Arch    string `json:"arch"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s version --json: %v\n%s", bin, err, out)
	}
	if v.Arch != goarch || v.Version != version {
		t.Errorf("%s version = %q on %q, want %q on %q", bin, v.Version, v.Arch, version, goarch)
	}
}

func checkDeb(t *testing.T, deb, arch, version, goarch, qemu string) {
	t.Helper()
	info := output(t, "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: hearth", "Version: " + version, "Architecture: " + arch, "Section: net"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info: no %q in\n%s", want, info)
		}
	}
	for _, f := range []string{"conffiles", "postinst", "prerm", "postrm"} {
		if !regexp.MustCompile(`\b` + f + `\b`).MatchString(info) {
			t.Errorf("dpkg-deb --info: no control member %s", f)
		}
	}
	if got := output(t, "dpkg-deb", "--field", deb, "Installed-Size"); strings.TrimSpace(got) == "" {
		t.Error("no Installed-Size")
	}
	contents := output(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{
		`-rwxr-xr-x root/root .* \./usr/bin/hearth`,
		`-rw-r--r-- root/root .* \./lib/systemd/system/hearth\.service`,
		`-rw-r--r-- root/root .* \./etc/hearth/hearth\.conf`,
		`\./usr/share/doc/hearth/copyright`,
	} {
		if !regexp.MustCompile(want).MatchString(contents) {
			t.Errorf("dpkg-deb --contents: nothing matches %s in\n%s", want, contents)
		}
	}
	ctrl := t.TempDir()
	output(t, "dpkg-deb", "--control", deb, ctrl)
	if b, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); strings.TrimSpace(string(b)) != "/etc/hearth/hearth.conf" {
		t.Errorf("conffiles = %q, want /etc/hearth/hearth.conf", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		output(t, "shellcheck", filepath.Join(ctrl, s))
	}

	// Install into an empty root: dpkg --unpack puts the files in place and
	// records the package; the maintainer scripts (user, systemctl) would
	// run chrooted into that root, which has no shell, so --configure is
	// not done here.
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "var/lib/dpkg/status"), "", 0o644)
	output(t, "dpkg", "--root="+root, "--force-architecture", "--unpack", deb)
	if st := output(t, "dpkg", "--root="+root, "--status", "hearth"); !strings.Contains(st, "Status: install ok unpacked") {
		t.Errorf("dpkg --status after unpack:\n%s", st)
	}
	checkBinary(t, filepath.Join(root, "usr/bin/hearth"), goarch, qemu, "1.2.3-4-gabcdef0")
	// Conffiles stay *.dpkg-new until --configure.
	conf, err := os.ReadFile(filepath.Join(root, "etc/hearth/hearth.conf.dpkg-new"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "profile = nas") || !strings.Contains(string(conf), "data_dir = /var/lib/hearth") {
		t.Errorf("installed hearth.conf lacks the nas profile or /var/lib/hearth:\n%s", conf)
	}

	// The unit in that root, next to the host's systemd units.
	output(t, "cp", "-r", "/usr/lib/systemd/system", filepath.Join(root, "usr/lib/systemd/"))
	if qemu == "" { // verify checks that ExecStart is executable here
		// ExecReload runs the base system's kill (procps, in every Debian
		// install); the root holds only the package, so lend it the host's.
		if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		output(t, "cp", "/bin/kill", filepath.Join(root, "bin/kill"))
		out, err := exec.Command("systemd-analyze", "verify", "--root="+root, "hearth.service").CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify hearth.service: %v\n%s", err, out)
		}
		out, err = exec.Command("systemd-analyze", "security", "--offline=yes", "--root="+root, "hearth.service").CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for hearth\.service: ([0-9.]+)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("systemd-analyze security: %v\n%s", err, out)
		}
		if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.5 {
			t.Errorf("systemd-analyze security exposure = %.1f, want <= 2.5 (the unit is sandboxed)", level)
		}
		unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system/hearth.service"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"User=hearth", "StateDirectory=hearth", "ProtectSystem=strict", "ReadWritePaths=/var/lib/hearth", "NoNewPrivileges=yes"} {
			if !strings.Contains(string(unit), "\n"+want+"\n") {
				t.Errorf("hearth.service lacks %s", want)
			}
		}
	}
}

// tarEntries reads a .tar.gz: names in order, modes and contents.
func tarEntries(t *testing.T, r io.Reader) (names []string, modes map[string]int64, data map[string][]byte) {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	modes, data = map[string]int64{}, map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, modes, data
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want root", h.Name, h.Uid, h.Gid)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		modes[h.Name] = h.Mode
		data[h.Name] = b
	}
}

func checkIpk(t *testing.T, ipk, arch, version, goarch, qemu string) {
	t.Helper()
	f, err := os.Open(ipk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	outer, _, parts := tarEntries(t, f)
	if want := []string{"./debian-binary", "./data.tar.gz", "./control.tar.gz"}; !slices.Equal(outer, want) {
		t.Fatalf("ipk members = %v, want %v (ipkg-build's layout)", outer, want)
	}
	if got := string(parts["./debian-binary"]); got != "2.0\n" {
		t.Errorf("debian-binary = %q, want 2.0", got)
	}
	_, _, control := tarEntries(t, strings.NewReader(string(parts["./control.tar.gz"])))
	ctl := string(control["./control"])
	for _, want := range []string{"Package: hearth\n", "Version: " + version + "\n", "Architecture: " + arch + "\n", "Require-User: hearth:hearth\n", "Section: net\n"} {
		if !strings.Contains(ctl, want) {
			t.Errorf("ipk control lacks %q:\n%s", want, ctl)
		}
	}
	if got := string(control["./conffiles"]); got != "/etc/config/hearth\n" {
		t.Errorf("ipk conffiles = %q, want /etc/config/hearth", got)
	}
	for _, s := range []string{"./postinst", "./prerm"} {
		if !strings.Contains(string(control[s]), "/lib/functions.sh") {
			t.Errorf("ipk %s does not use OpenWrt's default scripts:\n%s", s, control[s])
		}
	}
	names, modes, data := tarEntries(t, strings.NewReader(string(parts["./data.tar.gz"])))
	for name, mode := range map[string]int64{"./usr/bin/hearth": 0o755, "./etc/init.d/hearth": 0o755, "./etc/config/hearth": 0o644} {
		if !slices.Contains(names, name) {
			t.Errorf("ipk data lacks %s (has %v)", name, names)
			continue
		}
		if modes[name]&0o777 != mode {
			t.Errorf("ipk %s mode %o, want %o", name, modes[name]&0o777, mode)
		}
	}
	dir := t.TempDir()
	for name, b := range data {
		if strings.HasSuffix(name, "/") {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, string(b), os.FileMode(modes[name]&0o777))
	}
	bin := filepath.Join(dir, "usr/bin/hearth")
	checkBinary(t, bin, goarch, qemu, "1.2.3-4-gabcdef0")
	if qemu == "" {
		checkUCIConversion(t, filepath.Join(dir, "etc/init.d/hearth"), filepath.Join(dir, "etc/config/hearth"), bin)
	}
}

// checkUCIConversion runs the procd script's hearth_conf on the shipped
// /etc/config/hearth and on a config with a quote, a list and sections in
// another order, and reads the result with the real binary. OpenWrt's uci
// is not here: a shell function prints what "uci show hearth" prints for
// the file (uciShow).
func checkUCIConversion(t *testing.T, initScript, uciConfig, bin string) {
	t.Helper()
	output(t, "shellcheck", initScript)
	shipped, err := os.ReadFile(uciConfig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		uci  string
		want map[string]string // hearth config key → value
	}{
		{"shipped", string(shipped), map[string]string{
			"profile": "router", "data_dir": "/mnt/sda1/hearth", "listen": ":9091",
			"torrent.peer_port": "51413", "torrent.dht": "true", "torrent.port_forwarding": "false",
			"queue.max_downloads": "2", "limits.download_kbps": "0",
		}},
		{"quotes lists order", `config torrent 'torrent'
	option peer_port '51000'
	list dht_bootstrap '10.0.0.2:6881'
	list dht_bootstrap 'nas.lan:6881'

config hearth 'main'
	option enabled '1'
	option data_dir '/mnt/usb/my '\''media'\'' disk'
	option profile 'nas'
`, map[string]string{
			"profile": "nas", "data_dir": "/mnt/usb/my 'media' disk", "torrent.peer_port": "51000",
			"torrent.dht_bootstrap": "10.0.0.2:6881,nas.lan:6881",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			show := filepath.Join(dir, "uci-show")
			writeFile(t, show, uciShow(t, tt.uci), 0o644)
			for _, sh := range [][]string{{"/bin/sh"}, {"busybox", "ash"}} {
				conf := filepath.Join(dir, "hearth.conf")
				script := fmt.Sprintf(`. %q; uci() { cat %q; }; hearth_conf >%q`, initScript, show, conf)
				if out, err := exec.Command(sh[0], append(sh[1:], "-c", script)...).CombinedOutput(); err != nil {
					t.Fatalf("%s: hearth_conf: %v\n%s", sh, err, out)
				}
				got := localConfig(t, bin, conf)
				for k, v := range tt.want {
					if got[k] != v {
						t.Errorf("%s: generated config: %s = %q, want %q\n%s", sh, k, got[k], v, readAll(t, conf))
					}
				}
			}
		})
	}
}

// uciShow prints a UCI file the way "uci show hearth" does: one line per
// section (hearth.NAME=TYPE) and per option (hearth.NAME.KEY='value', a
// list's values side by side, ' written as '\”).
func uciShow(t *testing.T, text string) string {
	t.Helper()
	word := regexp.MustCompile(`'((?:[^']|'\\'')*)'|(\S+)`)
	unquote := func(s string) string {
		m := word.FindStringSubmatch(s)
		if m[1] != "" || strings.HasPrefix(s, "'") {
			return strings.ReplaceAll(m[1], `'\''`, "'")
		}
		return m[2]
	}
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var out []string
	section := ""
	listAt := map[string]int{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := word.FindAllString(l, 3)
		if len(f) < 2 {
			t.Fatalf("uci line %q", l)
		}
		switch f[0] {
		case "config":
			section = unquote(f[2])
			out = append(out, fmt.Sprintf("hearth.%s=%s", section, unquote(f[1])))
		case "option":
			out = append(out, fmt.Sprintf("hearth.%s.%s=%s", section, unquote(f[1]), quote(unquote(f[2]))))
		case "list":
			key := section + "." + unquote(f[1])
			if i, ok := listAt[key]; ok {
				out[i] += " " + quote(unquote(f[2]))
			} else {
				listAt[key] = len(out)
				out = append(out, fmt.Sprintf("hearth.%s=%s", key, quote(unquote(f[2]))))
			}
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// localConfig resolves a config file with the real binary: key → value.
func localConfig(t *testing.T, bin, conf string) map[string]string {
	t.Helper()
	cmd := exec.Command(bin, "config", "--local", "--json", "--config", conf)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + filepath.Dir(conf)}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hearth config --local --config %s: %v\n%s\n%s", conf, err, out, readAll(t, conf))
	}
	var res struct {
		Entries []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("hearth config --json: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, e := range res.Entries {
		m[e.Key] = e.Value
	}
	return m
}

func readAll(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
