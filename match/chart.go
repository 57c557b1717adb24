package match

import (
	"fmt"
	"image/color"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"

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
	p.Title.Padding = chartTitlePadding
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
			r := chartMinRadius + (chartMaxRadius-chartMinRadius)*vg.Length(math.Sqrt(float64(ns[i])/float64(maxN)))
			return draw.GlyphStyle{Color: col, Radius: r, Shape: draw.CircleGlyph{}}
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
	// Pass rates run from 0 to 1; the range reaches chartYPad beyond both
	// so that the largest points at 0 and 1 are drawn whole, clear of the
	// axis and the title, with the ticks kept on 0, 0.25, ..., 1.
	p.Y.Min, p.Y.Max = -chartYPad, 1+chartYPad
	var ticks plot.ConstantTicks
	for i := 0; i <= 4; i++ {
		y := float64(i) / 4
		ticks = append(ticks, plot.Tick{Value: y, Label: fmt.Sprintf("%.2f", y)})
	}
	p.Y.Tick.Marker = ticks

	for _, ext := range []string{".png", ".svg"} {
		if err := saveChart(p, base+ext); err != nil {
			return fmt.Errorf("match: bias chart %s: %v", filepath.Base(base+ext), err)
		}
	}
	return nil
}

// Sizes of the bias chart.
const (
	chartWidth, chartHeight = 9 * vg.Inch, 6 * vg.Inch
	chartMargin             = vg.Length(8) // white space around the whole chart, in points
	chartTitlePadding       = vg.Length(10)
	// Radii of the points, for the smallest and the largest n.
	chartMinRadius, chartMaxRadius = vg.Length(1.5), vg.Length(7.5)
	// chartYPad is the room, in pass rate, above 1 and below 0. The data
	// area is some 360 points high, so 0.05 is about 18 points: more than
	// twice the largest radius.
	chartYPad = 0.05
)

// saveChart writes p to path, in the format its extension names, with a
// white margin of chartMargin around it.
func saveChart(p *plot.Plot, path string) (err error) {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	cw, err := draw.NewFormattedCanvas(chartWidth, chartHeight, format)
	if err != nil {
		return err
	}
	dc := draw.New(cw)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	p.Draw(draw.Crop(dc, chartMargin, -chartMargin, chartMargin, -chartMargin))

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = cw.WriteTo(f)
	return err
}
