module example.com/e2e/greeter

go 1.22
