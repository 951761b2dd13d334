package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The alerts issue 16 asks for; each must be in alerts.yaml and tested.
var wantAlerts = []string{
	"TokensvcRotationOverdue",
	"TokensvcUnregisteredKeySigning",
	"TokensvcNoActiveKey",
	"TokensvcNotReady",
	"TokensvcWebhookBacklog",
	"TokensvcHighErrorRate",
}

// promtool returns the path of promtool. It skips the test where promtool
// is missing, except under CI=true, where the rules' tests must run:
// .ci/run installs it.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	const hint = "promtool is not installed; on Debian or Ubuntu: apt-get install --no-install-recommends prometheus (only promtool is used)"
	if os.Getenv("CI") == "true" {
		t.Fatal(hint + "; .ci/run installs it")
	}
	t.Skip(hint)
	return ""
}

// TestAlertRulesPassPromtool checks the rules (promtool check rules) and
// runs their unit tests (promtool test rules).
func TestAlertRulesPassPromtool(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertIsTestedBothWays checks that every alert the issue asks
// for is in alerts.yaml and that alerts_test.yaml makes each one fire and,
// at some time, not fire; promtool accepts a rule without a test.
func TestEveryAlertIsTestedBothWays(t *testing.T) {
	var rules ruleFile
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/alerts.yaml"), &rules); err != nil {
		t.Fatal(err)
	}
	var tests ruleTests
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/alerts_test.yaml"), &tests); err != nil {
		t.Fatal(err)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("alerts_test.yaml must make %s fire (%v) and stay silent (%v)", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
	for _, want := range wantAlerts {
		if !slices.Contains(alerts, want) {
			t.Errorf("alerts.yaml lacks %s", want)
		}
	}
}

// TestAlertsReadExportedSeries checks each tokensvc_ series the rules read
// against the code: a rule over a series nothing exports never fires.
func TestAlertsReadExportedSeries(t *testing.T) {
	var rules ruleFile
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/alerts.yaml"), &rules); err != nil {
		t.Fatal(err)
	}
	var source strings.Builder
	err := filepath.WalkDir("../internal", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		source.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	series := regexp.MustCompile(`\btokensvc_[a-z0-9_]+`)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, name := range series.FindAllString(r.Expr, -1) {
				if !strings.Contains(source.String(), `"`+name+`"`) {
					t.Errorf("%s reads %s, which no code in internal/ registers", r.Alert, name)
				}
			}
		}
	}
}
