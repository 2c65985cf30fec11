// Package plot draws a load generator run's timeline (report.Point) as an
// SVG picture: honest sessions served and failed per second, their p99
// latency, the server's refusals and the attackers' connections per
// second, and the difficulty and handshakes in flight, one panel each, on
// one time axis with the attack phase shaded.
package plot

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/powtcp/powtcp/tools/loadgen/report"
)

// series is one line of a panel.
type series struct {
	name  string
	value func(report.Point) (float64, bool) // false: no value at this point
	color color.Color
}

// panel is one of the picture's plots.
type panel struct {
	title, unit string
	lines       []series
}

var (
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	red    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	green  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	grey   = color.RGBA{R: 0xe8, G: 0xe8, B: 0xe8, A: 0xff}
)

func panels() []panel {
	known := func(f func(report.Point) float64) func(report.Point) (float64, bool) {
		return func(p report.Point) (float64, bool) { v := f(p); return v, v >= 0 }
	}
	return []panel{
		{"honest sessions", "per second", []series{
			{"served", known(func(p report.Point) float64 { return float64(p.Served) }), green},
			{"failed", known(func(p report.Point) float64 { return float64(p.Failed) }), red},
		}},
		{"honest p99 latency", "ms", []series{
			{"p99", func(p report.Point) (float64, bool) { return p.P99ms, p.P99ms > 0 }, blue},
		}},
		{"attack", "per second", []series{
			{"attackers' connections", known(func(p report.Point) float64 { return p.AttackConnsS }), orange},
			{"refused by the server", known(func(p report.Point) float64 { return p.RefusedPerS }), red},
		}},
		{"server", "bits / handshakes", []series{
			{"difficulty (bits)", known(func(p report.Point) float64 { return float64(p.Difficulty) }), blue},
			{"handshakes in flight / 1000", known(func(p report.Point) float64 {
				if p.Handshakes < 0 {
					return -1
				}
				return float64(p.Handshakes) / 1000
			}), orange},
		}},
	}
}

// SVG writes the picture of pts, titled title, to w.
func SVG(w io.Writer, title string, pts []report.Point) error {
	if len(pts) == 0 {
		return fmt.Errorf("plot: no points")
	}
	ps := panels()
	plots := make([][]*plot.Plot, len(ps))
	for i, pn := range ps {
		p := plot.New()
		p.Title.Text = pn.title
		if i == 0 {
			p.Title.Text = title + ": " + pn.title
		}
		p.Y.Label.Text = pn.unit
		p.X.Label.Text = "seconds"
		p.Y.Min = 0
		lines := make([]plotter.XYs, len(pn.lines))
		top := 1.0
		for j, s := range pn.lines {
			for _, pt := range pts {
				if v, ok := s.value(pt); ok {
					lines[j] = append(lines[j], plotter.XY{X: pt.T, Y: v})
					top = max(top, v)
				}
			}
		}
		if err := shadeAttack(p, pts, 1.05*top); err != nil {
			return err
		}
		for j, s := range pn.lines {
			if len(lines[j]) == 0 {
				continue
			}
			l, err := plotter.NewLine(lines[j])
			if err != nil {
				return err
			}
			l.Color = s.color
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(s.name, l)
		}
		p.Legend.Top = true
		plots[i] = []*plot.Plot{p}
	}
	img := vgsvg.New(8*vg.Inch, 2.6*vg.Inch*vg.Length(len(plots)))
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: 4 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter,
		PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	canvases := plot.Align(plots, tiles, draw.New(img))
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	_, err := img.WriteTo(w)
	return err
}

// shadeAttack greys the attack phase's seconds in p, up to top; it is
// added first, so that the lines are drawn over it.
func shadeAttack(p *plot.Plot, pts []report.Point, top float64) error {
	start, end := -1.0, -1.0
	for _, pt := range pts {
		if pt.Phase == "attack" {
			if start < 0 {
				start = pt.T - 1
			}
			end = pt.T
		}
	}
	if start < 0 {
		return nil
	}
	poly, err := plotter.NewPolygon(plotter.XYs{{X: start, Y: 0}, {X: end, Y: 0}, {X: end, Y: top}, {X: start, Y: top}})
	if err != nil {
		return err
	}
	poly.Color = grey
	poly.Width = 0
	p.Add(poly)
	return nil
}
