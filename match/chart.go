package match

import (
	"fmt"
	"image/color"
	"math"
	"math/big"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// quadrantColours colours the bias chart's points.
var quadrantColours = map[string]color.NRGBA{
	Underestimate: {R: 0x1f, G: 0x77, B: 0xb4, A: 0xc0}, // blue
	Overestimate:  {R: 0xd6, G: 0x27, B: 0x28, A: 0xc0}, // red
	Aligned:       {R: 0x7f, G: 0x7f, B: 0x7f, A: 0x90}, // grey
}

// BiasChart draws the bias chart of the pairs: x participation, y pass rate,
// one point per pair sized by n and coloured by quadrant, the centre (x0, y0)
// marked and the quadrant lines through it. It writes base+".png" and
// base+".svg".
func BiasChart(base string, pairs []Pair, x0, y0 *big.Rat) error {
	if len(pairs) == 0 {
		return fmt.Errorf("match: bias chart: no pairs")
	}
	cx, _ := x0.Float64()
	cy, _ := y0.Float64()
	p := plot.New()
	p.Title.Text = "Bias chart: one point per (group, task), sized by submissions"
	p.X.Label.Text = "participation (share of the group's submissions)"
	p.Y.Label.Text = "pass rate"
	p.Legend.Top = false
	p.Legend.Padding = vg.Points(4)
	p.Add(plotter.NewGrid())

	maxN, maxX := 1, cx
	for _, q := range pairs {
		maxN = max(maxN, q.N)
		maxX = max(maxX, q.Participation)
	}
	for _, quad := range []string{Aligned, Overestimate, Underestimate} {
		var xys plotter.XYs
		var ns []int
		for _, q := range pairs {
			if q.Quadrant == quad {
				xys = append(xys, plotter.XY{X: q.Participation, Y: q.PassRate})
				ns = append(ns, q.N)
			}
		}
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return fmt.Errorf("match: bias chart: %v", err)
		}
		col := quadrantColours[quad]
		s.GlyphStyleFunc = func(i int) draw.GlyphStyle {
			r := vg.Length(1.5 + 6*math.Sqrt(float64(ns[i])/float64(maxN)))
			return draw.GlyphStyle{Color: col, Radius: vg.Points(float64(r)), Shape: draw.CircleGlyph{}}
		}
		s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", quad, len(xys)), s)
	}

	lineStyle := func(l *plotter.Line) {
		l.Color = color.RGBA{A: 0xff}
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	v, _ := plotter.NewLine(plotter.XYs{{X: cx, Y: 0}, {X: cx, Y: 1}})
	h, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: cy}, {X: maxX * 1.05, Y: cy}})
	lineStyle(v)
	lineStyle(h)
	p.Add(v, h)
	centre, _ := plotter.NewScatter(plotter.XYs{{X: cx, Y: cy}})
	centre.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{A: 0xff}, Radius: vg.Points(6),
		Shape: draw.CrossGlyph{}}
	p.Add(centre)
	p.Legend.Add(fmt.Sprintf("centre (%.3f, %.3f)", cx, cy), centre)
	p.X.Min, p.X.Max = 0, maxX*1.05
	p.Y.Min, p.Y.Max = 0, 1

	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(9*vg.Inch, 6*vg.Inch, base+ext); err != nil {
			return fmt.Errorf("match: bias chart %s: %v", filepath.Base(base+ext), err)
		}
	}
	return nil
}
