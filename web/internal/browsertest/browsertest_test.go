package browsertest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>t</title></head><body>
<button id="b">Press</button>
<button id="nolabel"></button>
<input id="i" aria-label="Text">
<script src="/app.js"></script>
<script>console.log("inline")</script>
</body></html>`

const app = `
window.keys = [];
document.getElementById("b").addEventListener("click", () => document.body.dataset.clicked = "yes");
document.addEventListener("keydown", e => window.keys.push(e.key));
document.getElementById("b").addEventListener("keydown", e => { if (e.key === "Enter") document.body.dataset.enter = "yes"; });
`

func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(app))
		case "/":
			// The inline script is refused by the policy: Errors must report it.
			w.Header().Set("Content-Security-Policy", "script-src 'self'")
			w.Write([]byte(page))
		case "/favicon.ico":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	b := Start(t)
	p := b.NewPage(t, Phone)
	p.Navigate(t, srv.URL+"/")

	var width int
	p.Eval(t, "window.innerWidth", &width)
	if width != Phone.Width {
		t.Errorf("innerWidth = %d, want %d", width, Phone.Width)
	}

	p.Click(t, "#b")
	p.WaitFor(t, `document.body.dataset.clicked === "yes"`)

	p.Eval(t, `document.getElementById("i").focus()`, nil)
	p.Type(t, "héllo")
	var val string
	p.Eval(t, `document.getElementById("i").value`, &val)
	if val != "héllo" {
		t.Errorf("typed value = %q, want %q", val, "héllo")
	}

	p.Eval(t, `document.getElementById("b").focus()`, nil)
	for _, k := range []string{"ArrowDown", "ArrowRight", "Escape", "Backspace", "Enter"} {
		p.Key(t, k)
	}
	var got []string
	p.Eval(t, "window.keys", &got)
	if strings.Join(got, ",") != "ArrowDown,ArrowRight,Escape,Backspace,Enter" {
		t.Errorf("keys seen = %v", got)
	}
	p.WaitFor(t, `document.body.dataset.enter === "yes"`)

	bad := p.UnlabelledControls(t)
	if len(bad) != 1 || !strings.Contains(bad[0].HTML, `id="nolabel"`) {
		t.Errorf("UnlabelledControls = %+v, want only #nolabel", bad)
	}

	errs := strings.Join(p.Errors(), "\n")
	if !strings.Contains(errs, "Content Security Policy") {
		t.Errorf("Errors() = %q, want the CSP violation of the inline script", errs)
	}

	path := p.Screenshot(t, "phone")
	png, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot %s: not a PNG (err %v)", path, err)
	}

	var err2 = p.TryEval("nosuchfunction()", nil)
	if err2 == nil || !strings.Contains(err2.Error(), "nosuchfunction") {
		t.Errorf("TryEval of a bad call = %v, want a ReferenceError", err2)
	}
}
