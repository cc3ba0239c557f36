// The workload of the e2e-go image: a static Go program on a scratch image that waits to be scanned.
package main

import "time"

func main() {
	for {
		time.Sleep(time.Hour)
	}
}
