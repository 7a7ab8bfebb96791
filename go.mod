module github.com/hearth-media/hearth

go 1.26.8
