package notebook

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/study"
	"github.com/lreg/lreg/lreg/taylorglo"
)

// The settings each notebook's settings cell edits: a notebook imports this package only, and every cell below
// its settings is one call of a method of Env (each notebook's own file here: metatraining.go, table1.go,
// probes.go, flatness.go, early.go, taylorglo.go, study.go).
type (
	Table1Config    = experiment.Table1Config
	ProbesConfig    = experiment.ProbesConfig
	EarlyConfig     = experiment.EarlyConfig
	TaylorGLOConfig = taylorglo.Config
)

// MetaTrainingConfig is the meta-training notebook's settings: how each LO is meta-trained, and which LOs.
type MetaTrainingConfig struct {
	Meta meta.Config
	LOs  []string
}

// Validate checks the meta-training of every LO as `lreg meta-train` checks its flags (nb.Valid calls it).
func (c MetaTrainingConfig) Validate() error { return experiment.ValidateLOs(c.Meta, c.LOs) }

// MetaTrainingProfile is Table 1's meta-training settings and LOs for a profile.
func MetaTrainingProfile(profile string) (MetaTrainingConfig, error) {
	t, err := experiment.Table1Profile(profile)
	return MetaTrainingConfig{Meta: t.Meta, LOs: t.LOs}, err
}

// Table1Profile is Table 1's settings for a profile.
func Table1Profile(profile string) (Table1Config, error) { return experiment.Table1Profile(profile) }

// ProbesProfile is the probes' settings for a profile.
func ProbesProfile(profile string) (ProbesConfig, error) { return experiment.ProbesProfile(profile) }

// EarlyProfile is the early evidence's settings for a profile.
func EarlyProfile(profile string) (EarlyConfig, error) { return experiment.EarlyProfile(profile) }

// TaylorGLOProfile is TaylorGLO's settings for a profile.
func TaylorGLOProfile(profile string) (TaylorGLOConfig, error) { return taylorglo.Profile(profile) }

// FlatnessConfig is the flatness notebook's settings: Table 1's and the probes' for the flatness-regularized
// LOs (and lo-none, which they are compared with).
type FlatnessConfig struct {
	Table1 Table1Config
	Probes ProbesConfig
}

// Validate checks both parts as `lreg run table1` and `lreg run probes` check their flags (nb.Valid calls it).
func (c FlatnessConfig) Validate() error {
	if err := c.Table1.Validate(); err != nil {
		return err
	}
	return c.Probes.Validate()
}

// FlatLOs are the flatness-regularized LOs, each compared with lo-none.
var FlatLOs = []string{"hessian", "entropy"}

// FlatnessProfile is the flatness comparison's settings for a profile: Table 1's and the probes', restricted to
// lo-none and FlatLOs, without baselines.
func FlatnessProfile(profile string) (FlatnessConfig, error) {
	t, err := experiment.Table1Profile(profile)
	if err != nil {
		return FlatnessConfig{}, err
	}
	t.LOs, t.Baselines = append([]string{"none"}, FlatLOs...), nil
	p, err := experiment.ProbesProfile(profile)
	p.Regs = FlatLOs
	return FlatnessConfig{Table1: t, Probes: p}, err
}

// StudyConfig is the study notebook's settings: the merged directory of the powered study whose records it
// reads (lreg/study), and the design that made them. It runs nothing: the study's units run with `lreg study run`
// (or ./reproduce.sh --profile study), for hours.
type StudyConfig struct {
	Dir    string // the merged directory, absolute or relative to the repository: results/study, the committed records
	Size   string // the design that made its records: tiny, smoke or study (study.Of)
	Design string // a design file (`lreg study plan --write-design`) instead of Size; relative to the repository
}

// Validate checks the settings as `lreg study report` checks its flags (nb.Valid calls it): a known size or a
// design file, and a directory.
func (c StudyConfig) Validate() error {
	if c.Dir == "" {
		return errors.New("StudyConfig.Dir: name the merged directory (results/study: the committed records)")
	}
	if c.Design != "" {
		if filepath.Ext(c.Design) != ".json" {
			return fmt.Errorf("StudyConfig.Design %q: a design file is JSON, as `lreg study plan --write-design FILE.json` writes it", c.Design)
		}
		return nil
	}
	_, err := study.Of(c.Size)
	if err != nil {
		return fmt.Errorf("StudyConfig.Size: %w", err)
	}
	return nil
}

// StudyProfile is the study notebook's settings: the committed records of the powered study, whatever the profile
// (the study is one design; the profiles size the other notebooks' experiments).
func StudyProfile(string) (StudyConfig, error) {
	return StudyConfig{Dir: filepath.Join("results", "study"), Size: "study"}, nil
}
