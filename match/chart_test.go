package match

import (
	"image/png"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

// TestBiasChartPadding draws two equal points, the largest size, at pass
// rates 1 and 0.5 and one at 0, and checks that each is drawn whole (as many
// blue or red pixels as its twin in the middle), and that the title and
// axes keep clear of the image's edges.
func TestBiasChartPadding(t *testing.T) {
	pairs := []Pair{
		{Task: "top", N: 100, PassRate: 1, Participation: 0.05, Quadrant: Underestimate},
		{Task: "mid", N: 100, PassRate: 0.5, Participation: 0.05, Quadrant: Underestimate},
		{Task: "bottom", N: 100, PassRate: 0, Participation: 0.15, Quadrant: Overestimate},
		{Task: "mid2", N: 100, PassRate: 0.3, Participation: 0.15, Quadrant: Overestimate},
		// Far right, so that the legend (bottom right) is clear of the
		// points counted.
		{Task: "far", N: 1, PassRate: 0.9, Participation: 0.4, Quadrant: Aligned},
	}
	base := filepath.Join(t.TempDir(), "bias")
	if err := BiasChart(base, pairs, big.NewRat(1, 10), big.NewRat(2, 5)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(base + ".svg"); err != nil || fi.Size() == 0 {
		t.Fatalf("bias.svg: %v", err)
	}
	f, err := os.Open(base + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()

	// Count the blue (underestimate) and red (overestimate) pixels above and
	// below the middle of each pair of points, left of the legend.
	blue := func(r, g, bl uint32) bool { return bl > r+0x2800 && bl > 0x9000 }
	red := func(r, g, bl uint32) bool { return r > bl+0x2800 && r > 0x9000 && g < 0x9000 }
	count := func(is func(r, g, b uint32) bool, y0, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := b.Min.X; x < b.Min.X+b.Dx()*2/3; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if is(r, g, bl) {
					n++
				}
			}
		}
		return n
	}
	rows := func(is func(r, g, b uint32) bool) []int {
		var ys []int
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if count(is, y, y+1) > 0 {
				ys = append(ys, y)
			}
		}
		return ys
	}
	for _, c := range []struct {
		name string
		is   func(r, g, b uint32) bool
	}{{"pass rate 1", blue}, {"pass rate 0", red}} {
		ys := rows(c.is)
		if len(ys) == 0 {
			t.Fatalf("%s: no points drawn", c.name)
		}
		// The two points are far apart: split at the widest gap of rows.
		split, gap := ys[0], 0
		for i := 1; i < len(ys); i++ {
			if d := ys[i] - ys[i-1]; d > gap {
				split, gap = ys[i], d
			}
		}
		top, bottom := count(c.is, b.Min.Y, split), count(c.is, split, b.Max.Y)
		if top == 0 || bottom == 0 || top*10 < bottom*9 || bottom*10 < top*9 {
			t.Errorf("%s: %d and %d pixels for two equal points; one is cut", c.name, top, bottom)
		}
	}

	// A margin of white all round: nothing touches the edges.
	const margin = 6
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if x >= b.Min.X+margin && x < b.Max.X-margin && y >= b.Min.Y+margin && y < b.Max.Y-margin {
				continue
			}
			if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				t.Fatalf("pixel (%d, %d) within %d of the edge is not white", x, y, margin)
			}
		}
	}
}
