package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/powtcp/powtcp/client/powclient"
	"github.com/powtcp/powtcp/hashcash"
	"github.com/powtcp/powtcp/internal/wrongwork"
)

// modeStats is what the clients of one mode saw.
type modeStats struct {
	Sessions int
	Served   int
	Refused  map[string]int // by reason: the server's error code, or what failed on the client's side
}

// summary is a demo run as both sides saw it.
type summary struct {
	Clients, Concurrent, Difficulty, SourceAddrs int
	Alg                                          hashcash.Alg
	modes                                        []wrongwork.Mode // in the order the summary lists them

	Client map[string]modeStats // by mode name
	Server map[string]int64     // connections by outcome, from powserver.Server.Summary

	Elapsed          time.Duration // first dial to last reply
	Solves           int           // sessions that solved their challenge
	SolveTime        time.Duration // summed over those
	Attempts         uint64        // hashes (Equi-X: solutions), summed over those
	MinBits, MaxBits int           // difficulty the server asked for
}

func summarize(cfg config, addrs int, outcomes []outcome, server map[string]int64, elapsed time.Duration) *summary {
	s := &summary{
		Clients: cfg.Clients, Concurrent: cfg.C, Difficulty: cfg.Difficulty, SourceAddrs: addrs, Alg: cfg.Alg, modes: cfg.modes(),
		Client: map[string]modeStats{}, Server: server, Elapsed: elapsed,
	}
	for _, m := range s.modes {
		s.Client[m.String()] = modeStats{Refused: map[string]int{}}
	}
	for _, o := range outcomes {
		st := s.Client[o.mode.String()]
		st.Sessions++
		if o.err == nil {
			st.Served++
		} else {
			st.Refused[reason(o.err)]++
		}
		s.Client[o.mode.String()] = st
		if o.res.Solve.Stamp != "" {
			if s.Solves == 0 || o.res.Bits < s.MinBits {
				s.MinBits = o.res.Bits
			}
			s.MaxBits = max(s.MaxBits, o.res.Bits)
			s.Solves++
			s.SolveTime += o.res.Solve.Elapsed
			s.Attempts += o.res.Solve.Attempts
		}
	}
	return s
}

// listed are the modes the summary lists, in order: those of its run.
func (s *summary) listed() []wrongwork.Mode {
	if s.modes == nil {
		return config{Alg: s.Alg}.modes()
	}
	return s.modes
}

// reason names why a session failed.
func reason(err error) string { return powclient.Classify(err) }

// err reports what the demo must not see: an honest client refused, or a
// wrong solution served.
func (s *summary) err() error {
	var errs []error
	if h := s.Client[wrongwork.Honest.String()]; h.Served < h.Sessions {
		errs = append(errs, fmt.Errorf("%d of %d honest clients were refused", h.Sessions-h.Served, h.Sessions))
	}
	for _, m := range s.listed()[1:] {
		if w := s.Client[m.String()]; w.Served > 0 {
			errs = append(errs, fmt.Errorf("%d of %d %s clients were served", w.Served, w.Sessions, m.String()))
		}
	}
	return errors.Join(errs...)
}

// print writes the summary as tables.
func (s *summary) print(w io.Writer) {
	honest := s.Client[wrongwork.Honest.String()].Sessions
	alg := s.Alg
	if alg == 0 {
		alg = hashcash.SHA256
	}
	fmt.Fprintf(w, "powtcp demo: %d clients (%d honest, %d wrong), %d at a time, from %d source address(es), %v, difficulty %d\n\n",
		s.Clients, honest, s.Clients-honest, s.Concurrent, s.SourceAddrs, alg, s.Difficulty)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tSESSIONS\tSERVED\tREFUSED\tREASONS")
	for _, m := range s.listed() {
		st := s.Client[m.String()]
		var reasons []string
		for _, r := range slices.Sorted(maps.Keys(st.Refused)) {
			reasons = append(reasons, fmt.Sprintf("%s=%d", r, st.Refused[r]))
		}
		if len(reasons) == 0 {
			reasons = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", m.String(), st.Sessions, st.Served, st.Sessions-st.Served, strings.Join(reasons, " "))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "SERVER OUTCOME\tCONNECTIONS")
	for _, k := range slices.Sorted(maps.Keys(s.Server)) {
		fmt.Fprintf(tw, "%s\t%d\n", k, s.Server[k])
	}
	tw.Flush()

	fmt.Fprintf(w, "\ntotal time       %v\n", s.Elapsed.Round(time.Millisecond))
	if s.Solves > 0 {
		mean := s.SolveTime / time.Duration(s.Solves)
		rate := 0.0
		if s.SolveTime > 0 {
			rate = float64(s.Attempts) / s.SolveTime.Seconds()
		}
		each, speed := fmt.Sprintf("%.0f hashes", float64(s.Attempts)/float64(s.Solves)), fmt.Sprintf("%.2f MH/s", rate/1e6)
		if alg == hashcash.Equix {
			each, speed = fmt.Sprintf("%.1f Equi-X solutions", float64(s.Attempts)/float64(s.Solves)), fmt.Sprintf("%.1f solutions/s", rate)
		}
		fmt.Fprintf(w, "mean solve time  %v over %d solves (%s each, %s per client)\n",
			mean.Round(10*time.Microsecond), s.Solves, each, speed)
		fmt.Fprintf(w, "bits asked       %d..%d (base %d; adaptive difficulty adds bits under load)\n", s.MinBits, s.MaxBits, s.Difficulty)
	}
}
