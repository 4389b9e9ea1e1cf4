"""Several hubs sharing one show: the configuration of what stands in front of them."""
