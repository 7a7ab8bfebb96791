package sharepage

import (
	"fmt"
	"html/template"
	"path/filepath"
)

type pageData struct {
	Nonce     string
	Title     string
	Note      string
	Link      string
	IsChannel bool
	Base      string // /s/<token>
	Images    []file
	Media     []file
	Others    []file
	Arriving  []file
	Ready     int
	Bytes     int64
	Expires   string
	Thumbs    bool
	Torrent   bool // share.torrent is offered (web seed)
}

func joinRoot(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

var funcs = template.FuncMap{"size": humanSize}

// The style is one nonce'd block; there is no script: the page works the
// same with JavaScript off.
const style = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;background:#faf8f5}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0;word-break:break-word}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.note{white-space:pre-wrap;background:#fff;border-left:4px solid #d9822b;padding:.75rem 1rem;margin:1rem 0}
.meta{color:#666;font-size:.9rem}
.btn{display:inline-block;background:#d9822b;color:#fff;text-decoration:none;padding:.7rem 1.1rem;border-radius:.5rem;font-weight:600;margin:.25rem 0}
.btn.alt{background:#fff;color:#d9822b;border:2px solid #d9822b}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.4rem}
.grid a{display:block;aspect-ratio:1;background:#eee;overflow:hidden;border-radius:.3rem;color:#444;text-decoration:none;font-size:.8rem;word-break:break-all}
.grid img{width:100%;height:100%;object-fit:cover;display:block}
.grid span{display:block;padding:.5rem}
video,audio{width:100%;max-height:70vh;background:#000;border-radius:.3rem}
figure{margin:0 0 1rem}
figcaption,li{word-break:break-word}
ul,ol{padding-left:1.2rem}
ol li{margin:.4rem 0}
code{word-break:break-all;background:#fff;padding:.2rem .3rem;display:block;font-size:.8rem}
.qr{width:12rem;height:12rem;image-rendering:pixelated}
footer{margin:2rem 0 1rem;color:#888;font-size:.8rem}
`

var pageTmpl = template.Must(template.New("page").Funcs(funcs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="{{.Base}}/icon.png">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">` + style + `</style></head>
<body><main>
<h1>{{.Title}}</h1>
<p class="meta">{{.Ready}} file{{if ne .Ready 1}}s{{end}}, {{size .Bytes}}{{with .Expires}} · available until {{.}}{{end}}</p>
{{with .Note}}<p class="note">{{.}}</p>{{end}}
{{if .Ready}}<p><a class="btn" href="{{.Base}}/all.zip" download>Download all (zip)</a></p>{{end}}
{{if .Images}}<h2>Photos</h2>
<div class="grid">{{range .Images}}<a href="{{$.Base}}/f/{{.Index}}" title="{{.Name}}">{{if and $.Thumbs .Thumbable}}<img src="{{$.Base}}/t/{{.Index}}" alt="{{.Name}}" loading="lazy">{{else}}<span>{{.Name}}</span>{{end}}</a>{{end}}</div>{{end}}
{{if .Media}}<h2>Videos and music</h2>
{{range .Media}}<figure>{{if eq .Kind "video"}}<video controls preload="metadata" src="{{$.Base}}/f/{{.Index}}"></video>{{else}}<audio controls preload="none" src="{{$.Base}}/f/{{.Index}}"></audio>{{end}}
<figcaption>{{.Path}} · {{size .Size}} · <a href="{{$.Base}}/f/{{.Index}}?dl=1">download</a></figcaption></figure>{{end}}{{end}}
<h2>All files</h2>
<ul>{{range .Images}}<li><a href="{{$.Base}}/f/{{.Index}}?dl=1">{{.Path}}</a> · {{size .Size}}</li>{{end}}{{range .Media}}<li><a href="{{$.Base}}/f/{{.Index}}?dl=1">{{.Path}}</a> · {{size .Size}}</li>{{end}}{{range .Others}}<li><a href="{{$.Base}}/f/{{.Index}}?dl=1">{{.Path}}</a> · {{size .Size}}</li>{{end}}</ul>
{{if .Arriving}}<h2>Still arriving</h2><p class="meta">These files are not complete on the device yet; reload later.</p>
<ul>{{range .Arriving}}<li>{{.Path}} · {{size .Size}}</li>{{end}}</ul>{{end}}
{{if .IsChannel}}<h2>Get new photos as they are added</h2>
<p>Get <strong>Hearth</strong> and the new photos and videos of this channel come to you by themselves:</p>
<ol><li>Install Hearth on your computer, NAS or router.</li>
<li>Download the invite: <a class="btn alt" href="{{.Base}}/invite.hearth" download>Get Hearth invite</a></li>
<li>Open it with Hearth, or run <code>hearth add FILE.hearth</code> — or scan the code below with the Hearth app.</li></ol>
<p><img class="qr" src="{{.Base}}/invite.png" alt="QR code of the channel link" width="240" height="240"></p>
<p class="meta">Channel link, for a BitTorrent client that supports BEP 46:</p><code>{{.Link}}</code>
{{else if .Link}}<h2>With a BitTorrent client</h2><code>{{.Link}}</code>{{end}}
{{if .Torrent}}<p><a class="btn alt" href="{{.Base}}/share.torrent" download>Download .torrent</a></p>
<p class="meta">Any BitTorrent client downloads it from this device too, over HTTP (web seed).</p>{{end}}
<footer>Shared from a Hearth device. This link works on the home network it was made on.</footer>
</main></body></html>
`))

var msgTmpl = template.Must(template.New("msg").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">body{margin:0;font:16px/1.45 system-ui,sans-serif;color:#222;background:#faf8f5}main{max-width:30rem;margin:3rem auto;padding:1rem}h1{font-size:1.4rem}</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Text}}</p></main></body></html>
`))
