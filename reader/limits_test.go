package reader

import (
	"encoding/json"
	"os"
	"testing"
)

// The published layout's limits are declared once, in docs/result-index.schema.json (the controller takes its own
// from it): this reader's bounds must take every result the controller may write.
func TestLimitsFollowTheIndexSchema(t *testing.T) {
	raw, err := os.ReadFile("../docs/result-index.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Shards struct {
				MaxItems int `json:"maxItems"`
				Items    struct {
					Properties struct {
						Bytes struct {
							Maximum int `json:"maximum"`
						} `json:"bytes"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"shards"`
			Errors struct {
				MaxItems int `json:"maxItems"`
			} `json:"errors"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	p := schema.Properties
	if p.Shards.MaxItems == 0 || p.Shards.Items.Properties.Bytes.Maximum == 0 || p.Errors.MaxItems == 0 {
		t.Fatalf("the schema lacks a limit: %+v", p)
	}
	if MaxShards != p.Shards.MaxItems {
		t.Errorf("MaxShards = %d, the schema's shards.maxItems = %d", MaxShards, p.Shards.MaxItems)
	}
	if MaxErrors != p.Errors.MaxItems {
		t.Errorf("MaxErrors = %d, the schema's errors.maxItems = %d", MaxErrors, p.Errors.MaxItems)
	}
	if MaxShardBytes < p.Shards.Items.Properties.Bytes.Maximum {
		t.Errorf("MaxShardBytes = %d refuses shards the schema allows (up to %d bytes)", MaxShardBytes,
			p.Shards.Items.Properties.Bytes.Maximum)
	}
}
