package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Goals are the pass/fail targets reports are judged by, read from a JSON
// file (BENCHMARKS.targets.json beside BENCHMARKS.md) rather than written in
// the code.
type Goals struct {
	Comment           string  `json:"_comment"` // for people; not a target
	HonestServedMin   float64 `json:"honest_served_min"`
	HonestP99RatioMax float64 `json:"honest_p99_ratio_max"`
	WrongAcceptedMax  int64   `json:"wrong_accepted_max"`
	RSSPerSocketKBMax float64 `json:"rss_per_socket_kb_max"`
	CPUVsExchangeMax  float64 `json:"cpu_vs_exchange_max"`
	AsymmetryMin      float64 `json:"asymmetry_min"`
	// FDsOverIdleMax is how many more descriptors than idle a gate may
	// hold after the attack and the settle (loadgen -gate); 0 is none.
	FDsOverIdleMax int `json:"fds_over_idle_max"`
}

// GoalsFile is the targets file's name, looked for in the working
// directory and its parents when -targets is not given.
const GoalsFile = "BENCHMARKS.targets.json"

// LoadGoals reads the targets file at path, or finds GoalsFile from the
// working directory up when path is empty; nil and no error when there is
// none to find (the report then gives figures without judging them).
func LoadGoals(path string) (*Goals, error) {
	if path == "" {
		dir, err := os.Getwd()
		if err != nil {
			return nil, nil
		}
		for {
			if p := filepath.Join(dir, GoalsFile); fileExists(p) {
				path = p
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return nil, nil
			}
			dir = parent
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-targets: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var g Goals
	if err := d.Decode(&g); err != nil {
		return nil, fmt.Errorf("-targets %s: %w", path, err)
	}
	if g.FDsOverIdleMax < 0 {
		return nil, fmt.Errorf("-targets %s: fds_over_idle_max must be 0 or more", path)
	}
	if g.HonestServedMin <= 0 || g.HonestP99RatioMax <= 0 || g.RSSPerSocketKBMax <= 0 || g.CPUVsExchangeMax <= 0 || g.AsymmetryMin <= 0 {
		return nil, fmt.Errorf("-targets %s: every target must be set and positive (wrong_accepted_max may be 0)", path)
	}
	return &g, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
